using System.CommandLine;

namespace Orchestrator.Cli.Commands;

/// <summary><c>orch completion bash|zsh|fish</c>: a script that asks orch itself (its [suggest] directive) for completions.</summary>
internal static class CompletionCommand
{
    public static Command Build(CliApp app)
    {
        var command = Args.Command("completion", "Print a shell completion script.",
            "source <(orch completion bash)",
            "orch completion zsh > \"${fpath[1]}/_orch\"",
            "orch completion fish > ~/.config/fish/completions/orch.fish");
        var shell = new Argument<string>("SHELL");
        shell.AcceptOnlyFromAmong("bash", "zsh", "fish");
        command.Add(shell);
        app.SetLocalAction(command, (parse, ui, ct) =>
        {
            ui.Line(parse.GetValue(shell) switch
            {
                "bash" => """
                    _orch_complete() {
                      local IFS=$'\n'
                      COMPREPLY=( $(orch "[suggest:${COMP_POINT}]" "${COMP_LINE}" 2>/dev/null) )
                    }
                    complete -o default -F _orch_complete orch
                    """,
                "zsh" => """
                    #compdef orch
                    _orch() {
                      local -a completions
                      completions=("${(@f)$(orch "[suggest:${#BUFFER}]" "$BUFFER" 2>/dev/null)}")
                      compadd -- $completions
                    }
                    compdef _orch orch
                    """,
                _ => """
                    complete -c orch -f -a '(orch "[suggest:"(string length -- (commandline -cp))"]" (commandline -cp) 2>/dev/null)'
                    """,
            });
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }
}
