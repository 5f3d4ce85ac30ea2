import { DirectoryCollector, type ParsedDirectory } from './bundle.js'
import type { AddressPolicy, OAuthEndpoints } from './practice.js'
import type { PracticeSearchIndex } from './search-index.js'
import { runSlicesAsync } from './slices.js'
import { readDirectoryEntries, type ReadSourceOptions } from './source.js'

export interface CollectOptions extends ReadSourceOptions {
  oauth: OAuthEndpoints
  addressPolicy?: AddressPolicy
}

/** Reads the directory document (URL or file) and turns its entries into practices, in this process. */
export async function collectDirectory (source: string, options: CollectOptions): Promise<ParsedDirectory> {
  const collector = new DirectoryCollector(options.oauth, options.addressPolicy)
  await readDirectoryEntries(source, (entry) => collector.add(entry), options)
  return await runSlicesAsync(collector.finishInSlices())
}

/**
 * The practices of a directory, and their search index and stored copy (storedPracticesJson) when whoever
 * collected them made those too.
 */
export interface CollectedDirectory extends ParsedDirectory {
  index?: PracticeSearchIndex
  storedCopyJson?: string
}

/** A way to read and parse the directory: in this process, or in one of its own (import-process.ts). */
export type CollectDirectory = (source: string, options: Omit<CollectOptions, 'onProgress'>) => Promise<CollectedDirectory>
