// Preloaded into a gateway process (`--import`) by test/server.test.ts: on SIGWINCH, a signal that
// is ignored by default and that the server leaves alone, it raises the failure CRASH_WITH names
// outside any request, as a bug in a timer or a forgotten promise would.
process.on('SIGWINCH', () => {
  if (process.env.CRASH_WITH === 'rejection') void Promise.reject(new Error('injected rejection'))
  else throw new Error('injected exception')
})
