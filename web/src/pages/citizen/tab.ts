// What every tab of the citizen's portal (./CitizenPortal.tsx) gets.
import type { BrowserIdentity } from '../../lib/keys.js';

export interface CitizenTabProps {
  id: BrowserIdentity;
  /** The citizen's person number, kept in this browser only. */
  person: number;
}
