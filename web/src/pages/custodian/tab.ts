// What every tab of "Your data" (../Custodian.tsx) gets: the custodian's datasets, and a way to
// make the shell reload them (after a first upload, say).
export interface TabProps {
  mine: string[];
  refresh: () => void;
}
