import { ApiProblem } from '../api/problem';

/** An API error as the problem's title and detail, with the request id to quote. */
export function ProblemView({ error }: { error: unknown }) {
  if (!error) return null;
  const problem = error instanceof ApiProblem ? error : null;
  return (
    <div className="problem" role="alert">
      <strong>{problem?.title ?? 'Something went wrong'}</strong>
      {(problem?.detail ?? (error instanceof Error ? error.message : String(error))) && (
        <span> {problem ? problem.detail : error instanceof Error ? error.message : String(error)}</span>
      )}
      {problem?.field && <span className="muted"> (field: {problem.field})</span>}
      {problem?.requestId && <div className="muted small">Request id: <code>{problem.requestId}</code></div>}
    </div>
  );
}
