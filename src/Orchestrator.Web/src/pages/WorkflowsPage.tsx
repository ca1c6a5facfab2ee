import { useQuery } from '@tanstack/react-query';
import { Link, useNavigate } from 'react-router';
import { workflowsApi } from '../api/endpoints';
import { Loading } from '../components/Loading';
import { ProblemView } from '../components/ProblemView';

export function WorkflowsPage() {
  const list = useQuery({ queryKey: ['workflows'], queryFn: workflowsApi.list });
  const navigate = useNavigate();
  return (
    <section>
      <div className="page-head">
        <h1>Workflows</h1>
        <button type="button" className="primary" onClick={() => void navigate('/workflows/~new')}>Register a workflow</button>
      </div>
      <ProblemView error={list.error} />
      {list.isPending ? <Loading what="workflows" /> : list.data?.items.length === 0 ? <p className="empty">No workflows yet.</p> : (
        <div className="table-wrap">
          <table>
            <thead><tr><th>Name</th><th>Latest version</th><th>Kind</th></tr></thead>
            <tbody>
              {list.data?.items.map((w) => (
                <tr key={w.name}>
                  <td><Link to={`/workflows/${w.name}`}>{w.name}</Link></td>
                  <td>{w.latest_version}</td>
                  <td>{w.built_in ? 'built in' : 'registered'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
