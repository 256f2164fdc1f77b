/**
 * The JSON that `inspect --json` prints: a stable interface, documented in the README.
 * Keys are only ever added, never renamed or removed.
 */
import type { DatasetCheck } from '../datasetCheck';

export function inspectionJson(check: DatasetCheck): Record<string, unknown> {
  const { inspection: result, estimate } = check;
  return {
    file: result.file,
    bytes: result.bytes,
    records: result.records,
    invalid: result.invalid,
    errors: result.errors,
    warnings: result.warnings,
    notJsonLines: result.notJsonLines,
    schema: result.schema,
    fields: { input: result.fields.input, reference: result.fields.reference, label: result.fields.label, context: result.fields.context },
    referenceCandidates: result.referenceCandidates,
    labels: result.labels,
    statistics: {
      usable: result.usable,
      unusable: result.unusable,
      schemaProblems: result.schemaProblems,
      fieldCounts: result.fieldCounts,
      characters: result.characters,
      tokens: result.tokens,
      distinctInputs: result.distinctInputs,
      duplicateInputs: result.duplicateInputs,
      conflictingInputs: result.conflictingInputs,
      blankLines: result.scan.blankLines,
      byteOrderMark: result.scan.hasByteOrderMark,
      crlfLines: result.scan.crlfLines,
      multiLineRecords: result.scan.multiLineRecords,
    },
    bounds: estimate
      ? { task: estimate.task, inputs: estimate.inputs, sources: estimate.sources, contextLengthSource: check.contextLengthSource, bounds: estimate.bounds, fit: estimate.fit }
      : null,
    verdict: estimate ? estimate.verdict : null,
  };
}
