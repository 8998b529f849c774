// Fault injection for the fail-open tests: they must show that a failure at
// each stage (IP resolution, classifier, event build, sink) leaves every
// response untouched, and those stages are built not to fail on any input.
// Passed as a symbol-keyed option, so it is invisible to users and to the
// options schema; when absent it costs one undefined check per stage.

/** Symbol under which tests pass a FaultInjection in the plugin options. */
export { kFaults } from './symbols'

export type Stage = 'ip' | 'classify' | 'event' | 'sink' | 'record' | 'onRequest' | 'onSend' | 'onError' | 'onResponse' | 'onRequestAbort' | 'refused' | 'close' | 'hook' | 'register'

export interface FaultInjection {
  /** Stages that throw an Error when reached. */
  throwAt: ReadonlySet<Stage>
}
