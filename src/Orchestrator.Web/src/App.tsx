import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { lazy, Suspense } from 'react';
import { createBrowserRouter, Navigate, RouterProvider } from 'react-router';
import { ApiProblem } from './api/problem';
import { Layout } from './components/Layout';
import { Loading } from './components/Loading';
import { EnvironmentDetailPage } from './pages/EnvironmentDetailPage';
import { EnvironmentsPage } from './pages/EnvironmentsPage';
import { InstanceDetailPage } from './pages/InstanceDetailPage';
import { InstancesPage } from './pages/InstancesPage';
import { RunDetailPage } from './pages/RunDetailPage';
import { RunsPage } from './pages/RunsPage';
import { SecretsPage } from './pages/SecretsPage';
import { TenantsPage } from './pages/TenantsPage';
import { WorkflowsPage } from './pages/WorkflowsPage';

// The terminal (xterm.js) and the editor (CodeMirror) load with the pages that use them.
const TerminalPage = lazy(() => import('./pages/TerminalPage'));
const WorkflowDetailPage = lazy(() => import('./pages/WorkflowDetailPage'));

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // A 4xx will not get better by asking again; a network blip might.
      retry: (count, error) => !(error instanceof ApiProblem && error.status >= 400 && error.status < 500) && count < 2,
      refetchOnWindowFocus: true,
    },
  },
});

const lazyPage = (page: React.ReactNode) => <Suspense fallback={<Loading what="page" />}>{page}</Suspense>;

const router = createBrowserRouter(
  [
    {
      element: <Layout />,
      children: [
        { index: true, element: <Navigate to="/instances" replace /> },
        { path: 'instances', element: <InstancesPage /> },
        { path: 'instances/:id', element: <InstanceDetailPage /> },
        { path: 'instances/:id/terminal', element: lazyPage(<TerminalPage />) },
        { path: 'environments', element: <EnvironmentsPage /> },
        { path: 'environments/:id', element: <EnvironmentDetailPage /> },
        { path: 'workflows', element: <WorkflowsPage /> },
        { path: 'workflows/:name', element: lazyPage(<WorkflowDetailPage />) },
        { path: 'runs', element: <RunsPage /> },
        { path: 'runs/:id', element: <RunDetailPage /> },
        { path: 'secrets', element: <SecretsPage /> },
        { path: 'tenants', element: <TenantsPage /> },
        { path: '*', element: <Navigate to="/instances" replace /> },
      ],
    },
  ],
  { basename: '/ui' },
);

export function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>
  );
}
