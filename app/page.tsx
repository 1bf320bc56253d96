import { PredictionPlayground } from "./_components/prediction-playground";

export default function HomePage() {
  return (
    <main className="page">
      <header className="page-header">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true" />
          <h1>Replicate × Next.js</h1>
        </div>
        <p className="lede">
          Run a Replicate model through this app&apos;s <code>POST /api/ai/replicate</code> route: live progress that survives a
          reload, cancel at any time, and the same request as a curl command.
        </p>
      </header>
      <PredictionPlayground />
      <footer className="page-footer">
        <p>The token stays on the server: the browser only talks to this app&apos;s route, never to Replicate.</p>
      </footer>
    </main>
  );
}
