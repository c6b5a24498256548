// The app shell: who is signed in, what they can do, and the page. Pages by role: researchers
// browse registers, query, run statistics and studies and see their results; custodians manage
// their datasets, policies and approvals; anyone can audit the transparency log.
import { useEffect, useState } from 'preact/hooks';
import { LocationProvider, Route, Router, useLocation } from 'preact-iso';
import { cluster, type ClusterInfo } from './lib/api.js';
import { me, ready, restore, signOut } from './state.js';
import { History } from './pages/History.js';
import { Home } from './pages/Home.js';
import { Query } from './pages/Query.js';
import { Registers } from './pages/Registers.js';
import { SignIn } from './pages/SignIn.js';
import { NewStudy } from './pages/studies/NewStudy.js';
import { StudyList } from './pages/studies/StudyList.js';
import { StudyPage } from './pages/studies/StudyPage.js';
import { Custodian } from './pages/Custodian.js';
import { Log } from './pages/log/LogPage.js';
import { Stats } from './pages/stats/Stats.js';
import { CitizenPortal } from './pages/citizen/CitizenPortal.js';
import { CitizenSignIn } from './pages/citizen/CitizenSignIn.js';
import { DoctorPage } from './pages/doctor/DoctorPage.js';

interface Link {
  href: string;
  label: string;
  roles?: string[];
}

const LINKS: Link[] = [
  { href: '/registers', label: 'Registers' },
  { href: '/query', label: 'Query', roles: ['researcher'] },
  { href: '/stats', label: 'Statistics', roles: ['researcher'] },
  { href: '/studies', label: 'Studies', roles: ['researcher', 'custodian', 'auditor'] },
  { href: '/history', label: 'Your results', roles: ['researcher'] },
  { href: '/custodian', label: 'Your data', roles: ['custodian'] },
  { href: '/citizen', label: 'Your health data', roles: ['citizen'] },
  { href: '/doctor', label: 'Patients', roles: ['doctor'] },
  { href: '/log', label: 'Transparency log' },
];

function Nav() {
  const { path } = useLocation();
  const role = me.value?.role;
  return (
    <nav aria-label="Main">
      <ul>
        {LINKS.filter((l) => !l.roles || (role && l.roles.includes(role))).map((l) => (
          <li key={l.href}>
            <a href={l.href} aria-current={path.startsWith(l.href) ? 'page' : undefined}>
              {l.label}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}

function Header({ info }: { info: ClusterInfo | null }) {
  return (
    <header class="top">
      <a class="brand" href="/">
        Mosaik
      </a>
      <span class="cluster">{info ? `cluster ${info.cluster}: ${info.nodes.map((n) => n.name).join(', ')}` : ''}</span>
      <span class="who">
        {me.value ? (
          <>
            {me.value.name} <small>({me.value.role ?? 'not checked'})</small>{' '}
            <button type="button" class="link" onClick={() => void signOut()}>
              Sign out
            </button>
          </>
        ) : (
          <a href="/signin">Sign in</a>
        )}
      </span>
    </header>
  );
}

/** A page that needs a signed-in identity of one of `roles`. */
function Guard({ roles, children }: { roles: string[]; children: preact.ComponentChildren }) {
  if (!ready.value) return <p>Loading …</p>;
  if (!me.value) return <p>Please <a href="/signin">sign in</a> first: this page needs your identity.</p>;
  if (!roles.includes(me.value.role ?? '')) return <p>This page is for {roles.join(' or ')} identities; you are signed in as a {me.value.role}.</p>;
  return <>{children}</>;
}

export function App() {
  const [info, setInfo] = useState<ClusterInfo | null>(null);
  useEffect(() => {
    void restore();
    cluster().then(setInfo, () => setInfo(null));
  }, []);
  return (
    <LocationProvider>
      <a class="skip" href="#main">
        Skip to the content
      </a>
      <Header info={info} />
      <Nav />
      <main id="main" tabIndex={-1}>
        <Router>
          <Route path="/" component={Home} />
          <Route path="/signin" component={SignIn} />
          <Route path="/registers" component={Registers} />
          <Route path="/query" component={() => <Guard roles={['researcher']}><Query /></Guard>} />
          <Route path="/stats" component={() => <Guard roles={['researcher']}><Stats /></Guard>} />
          <Route path="/studies" component={() => <Guard roles={['researcher', 'custodian', 'auditor']}><StudyList /></Guard>} />
          <Route path="/studies/new" component={() => <Guard roles={['researcher']}><NewStudy /></Guard>} />
          <Route path="/studies/:id" component={() => <Guard roles={['researcher', 'custodian', 'auditor']}><StudyPage /></Guard>} />
          <Route path="/history" component={() => <Guard roles={['researcher']}><History /></Guard>} />
          <Route path="/custodian/*" component={() => <Guard roles={['custodian']}><Custodian /></Guard>} />
          <Route path="/custodian" component={() => <Guard roles={['custodian']}><Custodian /></Guard>} />
          <Route path="/log" component={Log} />
          <Route path="/citizen/signin" component={CitizenSignIn} />
          <Route path="/citizen/*" component={() => <Guard roles={['citizen']}><CitizenPortal /></Guard>} />
          <Route path="/citizen" component={() => <Guard roles={['citizen']}><CitizenPortal /></Guard>} />
          <Route path="/doctor" component={() => <Guard roles={['doctor']}><DoctorPage /></Guard>} />
          <Route default component={() => <p>There is no such page. <a href="/">Start here.</a></p>} />
        </Router>
      </main>
    </LocationProvider>
  );
}
