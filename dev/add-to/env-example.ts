/**
 * The variables of this project's .env.example that the app's does not list yet, each with its
 * comment (and its section's heading), appended at the end: nothing of theirs is touched, and a
 * variable already there, set or commented out, is not added again.
 */

/** The names a .env file sets or shows commented out (`NAME=`, `export NAME=`, `# NAME=`). */
export function variablesIn(text: string): Set<string> {
  const names = new Set<string>();
  for (const match of text.matchAll(/^[ \t]*(?:#[ \t]*)?(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)[ \t]*=/gm)) names.add(match[1]);
  return names;
}

const SECTION = /^# -{2,}/;

/** `theirs` with the missing variables of `ours` appended, and their names; `theirs` itself when none is missing. */
export function appendMissingVariables(theirs: string, ours: string): { text: string; added: string[] } {
  const present = variablesIn(theirs);
  const blocks = ours
    .split(/\n[ \t]*\n/)
    .map((block) => block.trim())
    .filter(Boolean);
  const kept: string[] = [];
  const added: string[] = [];
  let section: string | null = null;
  for (const block of blocks) {
    if (SECTION.test(block)) {
      section = block;
      continue;
    }
    // A block's own variables are its uncommented lines; a block with none (the file's header) is not copied.
    const names = [...block.matchAll(/^([A-Za-z_][A-Za-z0-9_]*)=/gm)].map((match) => match[1]);
    const missing = names.filter((name) => !present.has(name));
    if (missing.length === 0) continue;
    if (section) kept.push(section), (section = null);
    kept.push(block);
    added.push(...missing);
  }
  if (added.length === 0) return { text: theirs, added };
  const heading = "# ---- Replicate route (added by npm run add-to; see docs/add-to-your-app.md) ----";
  const lead = theirs === "" ? "" : theirs.endsWith("\n\n") ? "" : theirs.endsWith("\n") ? "\n" : "\n\n";
  return { text: `${theirs}${lead}${heading}\n\n${kept.join("\n\n")}\n`, added };
}
