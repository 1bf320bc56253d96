import type { PromptDirective } from "@/lib/shared/simulator";

/** Says quietly that the app talks to the simulated Replicate, and how a prompt steers it. */
export function SimulatorBanner({ directives }: { directives: readonly PromptDirective[] }) {
  return (
    <aside className="simulator-banner" aria-label="Simulated Replicate" data-testid="simulator-banner">
      <p>
        <strong>Simulated Replicate</strong> · no account, no cost. Steer it from the prompt:
      </p>
      <ul className="directive-list">
        {directives.map(({ directive, effect }) => (
          <li key={directive}>
            <code>{directive}</code> {effect}
          </li>
        ))}
      </ul>
    </aside>
  );
}
