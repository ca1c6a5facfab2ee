import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { NavLink, Outlet } from 'react-router';
import { currentSignIn, signOut, type SignIn } from '../api/auth';
import { SignInPanel } from './SignInPanel';
import { tryDevSignIn } from './devSignIn';

export function Layout() {
  const [signIn, setSignIn] = useState<SignIn | null>(() => currentSignIn());
  const [checkingDev, setCheckingDev] = useState(signIn === null);
  const queries = useQueryClient();

  useEffect(() => {
    if (signIn !== null) return;
    let live = true;
    void tryDevSignIn().then((dev) => {
      if (!live) return;
      if (dev) setSignIn(dev);
      setCheckingDev(false);
    });
    return () => {
      live = false;
    };
  }, [signIn]);

  const leave = () => {
    signOut();
    queries.clear();
    setSignIn(null);
  };

  return (
    <div className="shell">
      <header className="topbar">
        <a className="brand" href="/ui/">Orchestrator</a>
        {signIn && (
          <nav aria-label="Main">
            {signIn.kind === 'tenant' ? (
              <>
                <NavLink to="/instances">Instances</NavLink>
                <NavLink to="/environments">Environments</NavLink>
                <NavLink to="/workflows">Workflows</NavLink>
                <NavLink to="/runs">Runs</NavLink>
                <NavLink to="/secrets">Secrets</NavLink>
              </>
            ) : (
              <NavLink to="/tenants">Tenants</NavLink>
            )}
          </nav>
        )}
        {signIn && (
          <div className="who">
            <span className="muted">{signIn.kind === 'admin' ? 'admin' : `tenant ${signIn.label}`}</span>
            <button type="button" onClick={leave}>Sign out</button>
          </div>
        )}
      </header>
      <main>
        {signIn ? (
          <Outlet context={signIn} />
        ) : checkingDev ? null : (
          <SignInPanel onSignedIn={(value) => { queries.clear(); setSignIn(value); }} />
        )}
      </main>
    </div>
  );
}
