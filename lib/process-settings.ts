// Imported first by server.ts, for its side effect: settings the gateway process applies to itself
// before any other module loads (see applyLeanHeapSettings for why they cannot wait). The Node
// options it was started with are read here, before the configuration exists, so that an operator's
// own heap options win.
import { applyLeanHeapSettings } from './heap-settings.js'

applyLeanHeapSettings([...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' '))
