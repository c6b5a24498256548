import { me } from '../state.js';

export function Home() {
  return (
    <section aria-labelledby="home-h">
      <h1 id="home-h">Research across registers, without handing them over</h1>
      <p>
        Hospitals, national registers and statistics offices keep their records. Three independent compute nodes each hold a random-looking share of every value and compute on the shares
        together; only approved aggregates are released, with noise that protects every person, and only to the researcher who asked.
      </p>
      <ul class="cards">
        <li>
          <h2>Researchers</h2>
          <p>Browse the registers, write a query or a study, and see the result as a table and a chart, with the margin the protection added.</p>
          <a href={me.value ? '/query' : '/signin'}>{me.value ? 'Write a query' : 'Sign in'}</a>
        </li>
        <li>
          <h2>Custodians</h2>
          <p>See your datasets and what uses them, upload a small file, set your policy, and approve or reject studies, with a signed reason.</p>
          <a href={me.value ? '/custodian' : '/signin'}>Your data</a>
        </li>
        <li>
          <h2>Anyone</h2>
          <p>Check the transparency log yourself: every study, approval, run and release, co-signed by all three nodes, verified in this browser.</p>
          <a href="/log">The log</a>
        </li>
      </ul>
    </section>
  );
}
