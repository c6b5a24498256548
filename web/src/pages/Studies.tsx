export function Studies() {
  return <section><h1>Studies</h1><p>Coming.</p></section>;
}
