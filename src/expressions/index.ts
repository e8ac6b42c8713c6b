/**
 * flowd expressions: JSONata inside `{% … %}`, compiled once at load, evaluated per request —
 * synchronously through plain-JavaScript fast paths for the common simple forms, otherwise by
 * JSONata under time, depth and size limits in worker threads terminated at their deadline. See compile-expression.ts for the missing-data rule.
 */
export { compileExpression, type CompiledExpression, type Scope } from './compile-expression.js';
export { compileTemplate, evaluateTemplate, type CompiledTemplate } from './template.js';
export { expressionSource } from './delimiters.js';
export { isPromiseLike } from './promise.js';
export {
  DEFAULT_EXPRESSION_LIMITS,
  getExpressionLimits,
  resetExpressionLimits,
  setExpressionLimits,
  type ExpressionLimits,
} from './limits.js';
export {
  DEFAULT_EXPRESSION_ISOLATION,
  closeExpressionWorkers,
  getExpressionIsolation,
  setEvaluationGroup,
  setExpressionIsolation,
  startExpressionWorkers,
  type ExpressionIsolation,
} from './isolation/isolated-evaluation.js';
