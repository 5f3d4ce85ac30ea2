// Imported first by server.ts, for its side effect: settings the gateway process applies to itself
// before any other module loads (see applyLeanHeapSettings for why they cannot wait).
import { applyLeanHeapSettings } from './heap-settings.js'

applyLeanHeapSettings()
