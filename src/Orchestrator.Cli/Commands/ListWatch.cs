using System.CommandLine;

namespace Orchestrator.Cli.Commands;

/// <summary>
/// The loop of a list command: fetch and print; with <c>--watch</c>, fetch again every two seconds and print only
/// when what the list shows changed, until Ctrl-C.
/// </summary>
internal static class ListWatch
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    public static Option<bool> Option(string description) => new("--watch", "-w") { Description = description };

    /// <summary>Fetches and prints; the list is printed again only when <paramref name="fingerprint"/> of it differs.</summary>
    public static async Task<int> RunAsync<T>(bool watch, Func<CancellationToken, Task<T>> fetch, Func<T, string> fingerprint, Action<T> print, CancellationToken cancellationToken)
    {
        string? previous = null;
        do
        {
            var list = await fetch(cancellationToken);
            var current = fingerprint(list);
            if (current != previous)
            {
                print(list);
                previous = current;
            }

            if (watch)
            {
                await Task.Delay(Interval, cancellationToken);
            }
        }
        while (watch);

        return ExitCodes.Success;
    }
}
