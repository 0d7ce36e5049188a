// The page frame: brand, the tenant the UI queries as, and the Explore view.
import { useState } from 'react';
import Explore from '../explore/Explore.tsx';
import { getTenant, setTenant } from '../api/loki-client.ts';

export default function App() {
  const [tenant, setTenantText] = useState(getTenant());
  return (
    <div className="app">
      <header className="top-bar">
        <a className="brand" href="/">
          rankscope
        </a>
        <span className="muted">Explore</span>
        <span className="spacer" />
        <label className="tenant" title="Sent as X-Scope-OrgID; empty uses the server's default tenant">
          Tenant
          <input
            value={tenant}
            placeholder="default"
            onChange={(event) => setTenantText(event.target.value)}
            onBlur={() => setTenant(tenant)}
            onKeyDown={(event) => event.key === 'Enter' && setTenant(tenant)}
          />
        </label>
      </header>
      <Explore />
    </div>
  );
}
