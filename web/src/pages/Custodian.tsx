export function Custodian() {
  return <section><h1>Your data</h1><p>Coming.</p></section>;
}
