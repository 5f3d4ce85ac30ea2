// Search latency of the practice directory index against a naive scan of every name, on the same
// directory in the same run, plus the cost of importing the directory.
// Run: npx tsx bench/directory-search.ts   (prints a Markdown table for BENCHMARKS.md)
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { parseDirectoryBundle } from '../lib/directory/bundle.js'
import type { Practice } from '../lib/directory/practice.js'
import { PracticeSearchIndex } from '../lib/directory/search-index.js'
import { foldText, searchWords } from '../lib/directory/search-text.js'
import { syntheticBundle } from '../test/helpers/synthetic-bundle.js'
import { boundedEditDistance, typoBudget } from '../lib/directory/typo-index.js'
import { percentile } from './stats.js'

const REAL_DIRECTORY = resolve(import.meta.dirname, '../../shared/fixtures/healow-endpoints-bundle.json')
const REAL_DIRECTORY_SIZE = 6919
const LIMIT = 50
const OAUTH = {
  authorizeUrl: 'https://oauthserver.eclinicalworks.com/oauth/oauth2/authorize',
  tokenUrl: 'https://oauthserver.eclinicalworks.com/oauth/oauth2/token'
}

// What people type: whole words, typos, several words, accents, ids, and the prefixes of a word as it is typed.
const QUERIES = [
  'cardiology', 'cardilogy', 'family medicine', 'pediatrics houston', 'internal med', 'smith', 'womens health',
  'orthopedic', 'ortho', 'castaner', 'CASTAÑER', 'st vincent', 'sleep', 'pain management', 'heart', 'urgent care',
  'new york', 'gastro', 'dermatolgy', 'primary care', 'JAFJCD', 'allergy asthma', 'medical group', 'health center',
  'garcia md', 'oconnor', 'neurology associates', 'valley', 'wellness', 'surgery center',
  'c', 'ca', 'car', 'card', 'cardi', 'cardio', 'p', 'pe', 'ped', 'pedi', 'pedia'
]

/**
 * The baseline: names folded once up front (as a list held in memory would be), then every name scored on
 * each query, with the same ranking rules as the index so that both must return the same practices.
 */
function naiveSearcher (practices: readonly Practice[]): (query: string, limit: number) => Practice[] {
  const byName = practices
    .map((practice) => ({ practice, words: searchWords(practice.name), key: `${foldText(practice.name)}\u0000${practice.name}\u0000${practice.id}` }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  return (query, limit) => {
    const queryWords = [...new Set(searchWords(query))]
    if (queryWords.length === 0) return byName.slice(0, limit).map(({ practice }) => practice)
    const scored: Array<{ practice: Practice, ordinal: number, strength: number, positions: number }> = []
    byName.forEach(({ practice, words }, ordinal) => {
      let strength = 0
      let positions = 0
      for (const queryWord of queryWords) {
        const budget = typoBudget(queryWord.length)
        let best = 0
        let bestPosition = 0
        words.forEach((nameWord, position) => {
          const distance = budget === 0 ? 1 : boundedEditDistance(queryWord, nameWord, budget)
          const match = nameWord === queryWord
            ? 4
            : nameWord.startsWith(queryWord) ? 3 : distance > budget ? 0 : distance === 1 ? 2 : 1
          if (match > best) { best = match; bestPosition = position }
        })
        if (best === 0) return
        strength += best
        positions += bestPosition
      }
      scored.push({ practice, ordinal, strength, positions })
    })
    scored.sort((a, b) => b.strength - a.strength || a.positions - b.positions ||
      a.practice.name.length - b.practice.name.length || a.ordinal - b.ordinal)
    const ranked = scored.map(({ practice }) => practice)
    const exactId = practices.find((practice) => practice.id.toLowerCase() === query.trim().toLowerCase())
    if (exactId === undefined) return ranked.slice(0, limit)
    return [exactId, ...ranked.filter((practice) => practice !== exactId)].slice(0, limit)
  }
}

function collectGarbage (): void {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  gc()
  gc()
}

function timeQueries (search: (query: string) => unknown, rounds: number): number[] {
  for (const query of QUERIES) search(query) // warm-up, so that the figures are of steady state
  const samples: number[] = []
  for (let round = 0; round < rounds; round++) {
    for (const query of QUERIES) {
      const started = process.hrtime.bigint()
      search(query)
      samples.push(Number(process.hrtime.bigint() - started) / 1e6)
    }
  }
  return samples.sort((a, b) => a - b)
}

const megabytes = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1)
const milliseconds = (ms: number): string => (ms < 1 ? ms.toFixed(3) : ms.toFixed(1))

const useReal = existsSync(REAL_DIRECTORY)
const source = useReal ? 'the real Healow directory (../shared/fixtures)' : `a generated directory of ${REAL_DIRECTORY_SIZE} practices`
const text = useReal ? readFileSync(REAL_DIRECTORY, 'utf8') : JSON.stringify(syntheticBundle(REAL_DIRECTORY_SIZE))

collectGarbage()
const before = process.memoryUsage()
const importStarted = performance.now()
const parsed = parseDirectoryBundle(JSON.parse(text), OAUTH)
const parsedAt = performance.now()
const index = PracticeSearchIndex.of(parsed.practices)
const indexedAt = performance.now()
const peakRss = process.memoryUsage().rss
collectGarbage()
const after = process.memoryUsage()

const naiveSearch = naiveSearcher(parsed.practices)
let disagreements = 0
for (const query of QUERIES) {
  const fast = index.search(query, LIMIT).practices.map((practice) => practice.id).join()
  const naive = naiveSearch(query, LIMIT).map((practice) => practice.id).join()
  if (fast !== naive) { disagreements++; console.error(`results differ for "${query}"`) }
}

const indexed = timeQueries((query) => index.search(query, LIMIT), 200)
const naive = timeQueries((query) => naiveSearch(query, LIMIT), 20)
const indexedP50 = percentile(indexed, 0.5)
const naiveP50 = percentile(naive, 0.5)

console.log(`Directory: ${source}, ${index.size} practices, ${QUERIES.length} queries, limit ${LIMIT}, ` +
  `Node ${process.version}; results identical to the baseline for ${QUERIES.length - disagreements}/${QUERIES.length} queries.\n`)
console.log('| search | p50 (ms) | p99 (ms) | samples |')
console.log('|---|---:|---:|---:|')
console.log(`| index | ${milliseconds(indexedP50)} | ${milliseconds(percentile(indexed, 0.99))} | ${indexed.length} |`)
console.log(`| naive scan | ${milliseconds(naiveP50)} | ${milliseconds(percentile(naive, 0.99))} | ${naive.length} |`)
console.log(`| **speed-up at p50** | **${Math.round(naiveP50 / indexedP50)}×** | | |\n`)
console.log('| import (JSON text → searchable) | value |')
console.log('|---|---:|')
console.log(`| JSON.parse + Bundle → practices | ${milliseconds(parsedAt - importStarted)} ms |`)
console.log(`| index build | ${milliseconds(indexedAt - parsedAt)} ms |`)
console.log(`| total | ${milliseconds(indexedAt - importStarted)} ms |`)
console.log(`| heap retained (after GC) | ${megabytes(after.heapUsed - before.heapUsed)} MB |`)
console.log(`| RSS growth at peak | ${megabytes(peakRss - before.rss)} MB |`)
if (disagreements > 0) process.exitCode = 1
