// Headlight's analysis room: pure functions over attention tensors and tokens (no vscode, no ONNX).
export * from './types';
export { METRICS, type MetricDef } from './metricDefs';
export * from './thresholds';
export { analyzeHeads, headAnalyzer, type AnalyzeOptions, type HeadAnalyzer } from './analyzeHeads';
export { asReader, readerOf, isAttentionSet, checkHead, type HeadReader } from './heads';
export { summarizeLayers } from './layers';
export { makeRepeatProbe, scoreRepeatProbe, type ProbeVocab, type ProbeHeadScore } from './probe';
export { attentionPathway, rolloutMatrix, PathwayBuilder, LayerSums, type Pathway, type RolloutOptions } from './rollout';
export { isPunctuationToken, matchBrackets, repeatTargets, type TargetLists } from './tokenClasses';
export { buildContext, type TextContext } from './context';
export { measureHead, Scratch, LOCAL_WINDOW, type HeadMeasure, type RowStat } from './measure';
export { mulberry32, randInt, type Rng } from '../core/prng';
export { valueWeighted, valueWeightedReader } from './valueWeighted';
