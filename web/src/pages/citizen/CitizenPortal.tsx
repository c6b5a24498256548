// The citizen's portal (phone first): consent per research purpose, the studies it covers and
// which have run, grants for doctors, the accesses to one's own record, and the weekly
// questionnaire. Everything is signed (and where needed split and sealed) in this browser.
import { useEffect, useState } from 'preact/hooks';
import { loadPerson } from '../../lib/citizen.js';
import { me } from '../../state.js';
import { TabNav, useTab, type Tab } from '../../ui/Tabs.js';
import { ConsentTab } from './ConsentTab.js';
import { StudiesTab } from './StudiesTab.js';
import { DoctorsTab } from './DoctorsTab.js';
import { AccessesTab } from './AccessesTab.js';
import { QuestionnaireTab } from './QuestionnaireTab.js';
import type { CitizenTabProps } from './tab.js';

const TABS: Tab<CitizenTabProps>[] = [
  { href: '/citizen', label: 'Consent', page: ConsentTab },
  { href: '/citizen/studies', label: 'Studies', page: StudiesTab },
  { href: '/citizen/doctors', label: 'Doctors', page: DoctorsTab },
  { href: '/citizen/accesses', label: 'Who read my record', page: AccessesTab },
  { href: '/citizen/questionnaire', label: 'Questionnaire', page: QuestionnaireTab },
];

export function CitizenPortal() {
  const tab = useTab(TABS);
  const [person, setPerson] = useState<number | null | undefined>(undefined);
  useEffect(() => {
    loadPerson().then((p) => setPerson(p ?? null), () => setPerson(null));
  }, []);
  const Page = tab.page;
  return (
    <section aria-labelledby="cit-h" class="citizen">
      <h1 id="cit-h">Your health data</h1>
      <TabNav label="Your health data" tabs={TABS} current={tab} />
      {person === undefined ? <p>Loading …</p> : person === null ? <p>This browser does not know your person number: <a href="/citizen/signin">sign in again</a>.</p> : <Page id={me.value!} person={person} />}
    </section>
  );
}
