namespace Orchestrator.Testing;

/// <summary>Bounded waiting for a condition that another process or silo makes true in its own time.</summary>
public static class Wait
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Checks <paramref name="condition"/> every 200 ms; fails the test naming <paramref name="what"/> after the timeout.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        using var cts = new CancellationTokenSource(limit);
        while (!await condition())
        {
            if (cts.IsCancellationRequested)
            {
                Assert.Fail($"Timed out after {limit} waiting for {what}.");
            }

            await Task.Delay(200);
        }
    }
}
