// `hfi completion bash|zsh`: a completion script generated from the command
// tree itself, so a new subcommand or flag completes without editing this.
import { Command, Argument } from "commander";

interface Node {
  path: string;
  words: string[];
}

function walk(cmd: Command, path: string, out: Node[]): void {
  const words = [
    ...cmd.commands.map((c) => c.name()),
    ...cmd.registeredArguments.flatMap((a) => a.argChoices ?? []),
    ...cmd.options.flatMap((o) => [o.long, o.short].filter((f): f is string => !!f)),
    "--help",
  ];
  out.push({ path, words });
  for (const sub of cmd.commands) walk(sub, `${path} ${sub.name()}`.trim(), out);
}

/** Flags whose value is a file path (completed as files). */
const FILE_FLAGS = ["-f", "--file", "--wasm", "--token-file", "--api-token-file", "--stream-token-file", "--data-dir"];

export function bashScript(program: Command): string {
  const nodes: Node[] = [];
  walk(program, "", nodes);
  const cases = nodes.map((n) => `    "${n.path}") words="${n.words.join(" ")}" ;;`).join("\n");
  return `# hfi bash completion. Load it with:  source <(npx hfi completion bash)
_hfi_complete() {
  local cur prev path="" w i words=""
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  case "$prev" in
    ${FILE_FLAGS.join("|")}) COMPREPLY=( $(compgen -f -- "$cur") ); return ;;
  esac
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ "$w" == -* ]] && continue
    case "\${path:+$path }$w" in
${nodes
  .filter((n) => n.path)
  .map((n) => `      "${n.path}") path="${n.path}" ;;`)
  .join("\n")}
    esac
  done
  case "$path" in
${cases}
  esac
  COMPREPLY=( $(compgen -W "$words" -- "$cur") )
}
complete -o default -F _hfi_complete hfi hfi-cli
`;
}

export function zshScript(program: Command): string {
  return `# hfi zsh completion (through zsh's bash completion support). Load it with:
#   source <(npx hfi completion zsh)
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bashScript(program).split("\n").slice(1).join("\n")}`;
}

export function completionCommand(program: () => Promise<Command>): Command {
  return new Command("completion")
    .description("print a shell completion script (bash or zsh)")
    .addArgument(new Argument("<shell>", "the shell").choices(["bash", "zsh"]))
    .addHelpText("after", "\nExamples:\n  source <(npx hfi completion bash)\n\nIn zsh: source <(npx hfi completion zsh). Add the line to ~/.bashrc or ~/.zshrc to keep it.\n")
    .action(async (shell: string) => {
      const tree = await program();
      process.stdout.write(shell === "bash" ? bashScript(tree) : zshScript(tree));
    });
}
