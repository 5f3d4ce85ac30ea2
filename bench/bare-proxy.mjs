// The baseline the gateway is measured against: @fastify/http-proxy with nothing added (the client
// sends the token itself). Plain JavaScript, run by node itself as the compiled gateway is, so that
// neither proxy pays for a TypeScript loader. Started by fhir-proxy.ts with the upstream's URL.
import Fastify from 'fastify'
import httpProxy from '@fastify/http-proxy'

const app = Fastify({ logger: false })
await app.register(httpProxy, { upstream: process.argv[2], undici: { connections: 128 } })
process.send({ url: await app.listen({ port: 0, host: '127.0.0.1' }) })
