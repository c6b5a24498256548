// The app's state: the signed-in identity (its key stays in this browser: ./lib/keys.ts).
import { signal } from '@preact/signals';
import { call } from './lib/api.js';
import { forgetIdentity, loadIdentity, saveIdentity, type BrowserIdentity } from './lib/keys.js';

export const me = signal<BrowserIdentity | null>(null);
export const ready = signal(false);

/** Asks node 0 who this key is; keeps the identity (role, datasets) when the nodes know it. */
export async function signIn(id: BrowserIdentity): Promise<BrowserIdentity> {
  const who = await call<{ name: string; role: string; datasets: string[] }>(0, '/v1/whoami', { as: id });
  const full = { ...id, role: who.role, datasets: who.datasets };
  await saveIdentity(full);
  me.value = full;
  return full;
}

export async function signOut(): Promise<void> {
  await forgetIdentity();
  me.value = null;
}

export async function restore(): Promise<void> {
  try {
    const id = await loadIdentity();
    if (id) me.value = id;
  } finally {
    ready.value = true;
  }
}
