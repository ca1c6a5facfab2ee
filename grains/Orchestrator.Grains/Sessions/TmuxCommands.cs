using System.Globalization;
using System.Text;
using Orchestrator.Ssh;

namespace Orchestrator.Grains.Sessions;

/// <summary>
/// The tmux command lines the session grain runs on a machine. Every session lives on the server socket
/// <see cref="TerminalSessionRules.TmuxSocket"/> (<c>-f /dev/null</c>: the user's tmux.conf does not apply) and is
/// targeted exactly (<c>=name</c>), so a session named like the prefix of another is never hit. Every user-given
/// string is quoted with <see cref="ShellQuote"/>.
/// </summary>
internal static class TmuxCommands
{
    /// <summary>Exit status of a tmux command whose session does not exist (or whose server is not running).</summary>
    public const int NoSession = 3;

    /// <summary>How long (in tenths of a second) <see cref="ProbeExit"/> waits for a dead pane's exit status.</summary>
    public const int ExitStatusWaitTenths = 50;

    private const string Tmux = "tmux -L " + TerminalSessionRules.TmuxSocket + " -f /dev/null";

    /// <summary>
    /// Started once per tmux server, it lives as long as the server: tmux 3.3 sometimes misses the exit of a pane's
    /// program (the program stays a zombie, the pane dead without a status, no pane-died hook) until another child of
    /// the server exits, so this makes one exit every second.
    /// </summary>
    private const string Reaper = "set-option -g @orchestrator-reaper 1 ; run-shell -b \"while sleep 1 && " + Tmux + " run-shell true; do :; done\"";

    // The probe's fields, '|' apart: pane dead, its exit status, the signal that ended it, clients attached, the
    // last output (window) and the last input (session), in Unix seconds.
    private const string ProbeFormat = "#{pane_dead}|#{pane_dead_status}|#{pane_dead_signal}|#{session_attached}|#{window_activity}|#{session_activity}";

    /// <summary>
    /// Starts the session detached. The server options come first: a program that exits at once must still leave
    /// its dead pane (remain-on-exit) for its exit status to be read, and the history must hold the scrollback.
    /// When a pane dies tmux detaches the clients of its session (the empty target is the hook's own session; tmux
    /// runs the hook once it has the exit status), so attached clients end instead of showing the dead pane.
    /// </summary>
    public static string New(string session, TerminalSessionSpec spec)
    {
        var builder = new StringBuilder(Tmux)
            .Append(" start-server \\; set-option -g remain-on-exit on \\; set-option -g status off")
            .Append(" \\; set-hook -g pane-died \"detach-client -s ''\"")
            .Append(" \\; if-shell -F '#{@orchestrator-reaper}' 'set-option -g @orchestrator-reaper 1' ").Append(ShellQuote.Quote(Reaper))
            .Append(" \\; set-option -g history-limit ").Append(TerminalSessionRules.MaxScrollback.ToString(CultureInfo.InvariantCulture))
            .Append(" \\; new-session -d -s ").Append(ShellQuote.Quote(session))
            .Append(" -x ").Append(spec.Columns.ToString(CultureInfo.InvariantCulture))
            .Append(" -y ").Append(spec.Rows.ToString(CultureInfo.InvariantCulture));
        if (spec.Cwd is { } cwd)
        {
            builder.Append(" -c ").Append(ShellQuote.Quote(cwd, "cwd"));
        }

        foreach (var (name, value) in spec.Env ?? new Dictionary<string, string>())
        {
            builder.Append(" -e ").Append(ShellQuote.Quote(name + "=" + value, "env"));
        }

        if (spec.Command is { } command)
        {
            // One argument: tmux runs it with the default shell's -c.
            builder.Append(" -- ").Append(ShellQuote.Quote(command, "command"));
        }

        // A cwd that does not exist would silently start in $HOME: refuse it like exec does.
        return spec.Cwd is { } dir
            ? $"test -d {ShellQuote.Quote(dir, "cwd")} || {{ echo \"cwd: no such directory\" >&2; exit 2; }}; {builder}"
            : builder.ToString();
    }

    public static string Probe(string session) =>
        $"{Tmux} has-session -t {Exact(session)} 2>/dev/null || exit {NoSession}; {Tmux} display-message -p -t {Pane(session)} '{ProbeFormat}'";

    /// <summary>
    /// As <see cref="Probe"/>, but a pane tmux already reports dead without its exit status (tmux reaps the program a
    /// moment after its terminal closes, or misses it until another child exits: a run-shell makes one) is read again,
    /// for up to <see cref="ExitStatusWaitTenths"/> tenths of a second.
    /// </summary>
    public static string ProbeExit(string session) =>
        $"{Tmux} has-session -t {Exact(session)} 2>/dev/null || exit {NoSession}; i=0; "
        + $"while probe=$({Tmux} display-message -p -t {Pane(session)} '{ProbeFormat}') || exit {NoSession}; "
        + $"case \"$probe\" in '1|||'*) [ $i -lt {ExitStatusWaitTenths.ToString(CultureInfo.InvariantCulture)} ] ;; *) false ;; esac; "
        + $"do i=$((i+1)); {Tmux} run-shell true; sleep 0.1; done; printf '%s\\n' \"$probe\"";

    /// <summary>Has every client attached to the session draw its whole screen again.</summary>
    public static string Redraw(string session) =>
        $"{Tmux} has-session -t {Exact(session)} 2>/dev/null || exit {NoSession}; "
        + $"{Tmux} list-clients -t {Exact(session)} -F '#{{client_name}}' | while read -r client; do {Tmux} refresh-client -t \"$client\"; done; true";

    /// <summary>First line: cursor and size; then the pane's lines (with <paramref name="scrollback"/> lines of history).</summary>
    public static string Capture(string session, int scrollback)
    {
        var start = scrollback > 0 ? " -S -" + scrollback.ToString(CultureInfo.InvariantCulture) : "";
        return $"{Tmux} has-session -t {Exact(session)} 2>/dev/null || exit {NoSession}; "
            + $"{Tmux} display-message -p -t {Pane(session)} '#{{cursor_x}} #{{cursor_y}} #{{pane_width}} #{{pane_height}}' \\; capture-pane -p -t {Pane(session)}{start}";
    }

    public static string Send(string session, TerminalInput input)
    {
        var builder = new StringBuilder($"{Tmux} has-session -t {Exact(session)} 2>/dev/null || exit {NoSession}; {Tmux} send-keys -t {Pane(session)}");
        if (input.Text is { } text)
        {
            builder.Append(" -l -- ").Append(ShellQuote.Quote(text, "text"));
        }
        else
        {
            builder.Append(" --");
            foreach (var key in input.Keys!)
            {
                builder.Append(' ').Append(ShellQuote.Quote(key, "keys"));
            }
        }

        return builder.ToString();
    }

    public static string Kill(string session) =>
        $"{Tmux} kill-session -t {Exact(session)} 2>/dev/null; true";

    /// <summary>Run on a PTY: a tmux client that first draws the whole screen, then follows it (read-only with -r).</summary>
    public static string Attach(string session, bool viewOnly) =>
        $"{Tmux} -u attach-session{(viewOnly ? " -r" : "")} -t {Exact(session)}";

    /// <summary>Reads <see cref="Probe"/>'s line.</summary>
    public static TmuxProbeResult ParseProbe(string output)
    {
        var fields = output.Trim().Split('|');
        if (fields.Length != 6)
        {
            throw new InvalidOperationException($"tmux answered the probe with '{output.Trim()}'.");
        }

        var dead = fields[0] == "1";
        int? exitCode = int.TryParse(fields[1], CultureInfo.InvariantCulture, out var status) ? status
            : int.TryParse(fields[2], CultureInfo.InvariantCulture, out var signal) ? 128 + signal
            : null;
        _ = int.TryParse(fields[3], CultureInfo.InvariantCulture, out var attached);
        var activity = new[] { fields[4], fields[5] }
            .Select(f => long.TryParse(f, CultureInfo.InvariantCulture, out var seconds) ? seconds : 0)
            .Max();
        return new TmuxProbeResult(dead, exitCode, attached, activity > 0 ? DateTimeOffset.FromUnixTimeSeconds(activity) : null);
    }

    /// <summary>Reads <see cref="Capture"/>'s output.</summary>
    public static TerminalScreen ParseCapture(string output)
    {
        var newline = output.IndexOf('\n', StringComparison.Ordinal);
        var header = (newline < 0 ? output : output[..newline]).Split(' ');
        if (header.Length != 4)
        {
            throw new InvalidOperationException($"tmux answered the capture with '{header}'.");
        }

        var numbers = header.Select(h => int.Parse(h, CultureInfo.InvariantCulture)).ToArray();
        var text = newline < 0 ? "" : output[(newline + 1)..];
        return new TerminalScreen(text, numbers[0], numbers[1], numbers[2], numbers[3]);
    }

    private static string Exact(string session) => ShellQuote.Quote("=" + session);

    private static string Pane(string session) => ShellQuote.Quote("=" + session + ":");
}
