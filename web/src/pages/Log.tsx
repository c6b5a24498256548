export function Log() {
  return <section><h1>Transparency log</h1><p>Coming.</p></section>;
}
