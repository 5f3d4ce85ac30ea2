// Run as its own process by the store tests: opens the store at argv[2], takes the refresh lease
// of connection argv[3] for an hour, says so on stdout, and then only waits to be killed.
import { openStore } from '../../lib/store/open.js'

const store = await openStore(process.argv[2])
const held = await store.refreshLeases.acquire(process.argv[3], 'killed-holder', Date.now(), 3600_000)
process.stdout.write(held ? 'held\n' : 'refused\n')
setInterval(() => {}, 60_000)
