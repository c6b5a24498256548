// Tabs of a section (a custodian's "Your data", a citizen's portal): one page per path, a row of links
// with the current one marked for screen readers (aria-current) and by style (.tabs).
import type { FunctionComponent } from 'preact';
import { useLocation } from 'preact-iso';

export interface Tab<P> {
  href: string;
  label: string;
  page: FunctionComponent<P>;
}

/** The tab the path selects (the first one for the section's own path or an unknown one). */
export function useTab<P>(tabs: Tab<P>[]): Tab<P> {
  const { path } = useLocation();
  const here = path.replace(/\/+$/, '') || tabs[0]!.href;
  return tabs.find((t) => t.href === here) ?? tabs[0]!;
}

export function TabNav<P>({ label, tabs, current }: { label: string; tabs: Tab<P>[]; current: Tab<P> }) {
  return (
    <nav aria-label={label} class="tabs">
      <ul>
        {tabs.map((t) => (
          <li key={t.href}>
            <a href={t.href} aria-current={t === current ? 'page' : undefined}>
              {t.label}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}
