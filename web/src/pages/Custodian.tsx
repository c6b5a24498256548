// "Your data": the custodian's side of the app, in five tabs (each a page of ./custodian/): the
// datasets and their versions, an upload from this browser (checked, split into shares and sealed
// for each node here), the policy editor, the studies that read the custodian's data (approve or
// reject, signed here, with licence terms), and usage and licensing per study. Every signature is
// made in this browser with the custodian's non-extractable key; the web server relays only signed
// calls, public metadata and sealed shares.
import { useEffect, useState } from 'preact/hooks';
import { myDatasetNames } from '../lib/custodian-data.js';
import { me } from '../state.js';
import { Problem } from '../ui/common.js';
import { TabNav, useTab, type Tab } from '../ui/Tabs.js';
import { Datasets } from './custodian/Datasets.js';
import { Upload } from './custodian/Upload.js';
import { PolicyEditor } from './custodian/PolicyEditor.js';
import { StudyReviews } from './custodian/StudyReviews.js';
import { UsagePage } from './custodian/UsagePage.js';
import type { TabProps } from './custodian/tab.js';

const TABS: Tab<TabProps>[] = [
  { href: '/custodian', label: 'Datasets', page: Datasets },
  { href: '/custodian/upload', label: 'Upload', page: Upload },
  { href: '/custodian/policy', label: 'Policy', page: PolicyEditor },
  { href: '/custodian/studies', label: 'Studies to review', page: StudyReviews },
  { href: '/custodian/usage', label: 'Usage and licences', page: UsagePage },
];

export function Custodian() {
  const tab = useTab(TABS);
  const [mine, setMine] = useState<string[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [stamp, setStamp] = useState(0);
  const id = me.value!;
  useEffect(() => {
    myDatasetNames(id.name, id.datasets ?? []).then(setMine, setError);
  }, [stamp]);
  const Page = tab.page;
  return (
    <section aria-labelledby="cust-h" class="custodian">
      <h1 id="cust-h">Your data</h1>
      <TabNav label="Your data" tabs={TABS} current={tab} />
      <Problem error={error} />
      {mine ? mine.length === 0 && tab.href === '/custodian' ? <p>The nodes know no dataset of yours ({id.name}). The operators register which datasets a custodian owns.</p> : <Page mine={mine} refresh={() => setStamp((s) => s + 1)} /> : <p>Loading your datasets …</p>}
    </section>
  );
}
