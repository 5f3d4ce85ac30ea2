// Healow's load balancer pins clients with cookies; a gateway must not pass them on.
import { randomBytes } from 'node:crypto'
import type { ServerResponse } from 'node:http'

export function setAffinityCookies (response: ServerResponse): void {
  const node = randomBytes(12).toString('hex')
  response.setHeader('set-cookie', [
    `AWSALB=${node}; Expires=${new Date(Date.now() + 7 * 24 * 3600_000).toUTCString()}; Path=/`,
    `BIGipServerpool_fhir4=${randomBytes(6).readUIntBE(0, 6)}.20480.0000; path=/; Httponly`
  ])
}
