using Microsoft.Extensions.Time.Testing;

namespace Orchestrator.Grains.Tests;

/// <summary>
/// Bounded waits for conditions the cluster makes true on its own threads. Nothing here moves time by itself
/// except the DriveAsync methods, which advances the fake clock in fixed steps while real I/O (the emulator's
/// machines) catches up; every wait names what it waits for and fails after <see cref="Bound"/>.
/// </summary>
internal static class Eventually
{
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);

    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(10);

    /// <summary>Waits until <paramref name="condition"/> holds, without moving the fake clock.</summary>
    public static async Task<T> UntilAsync<T>(Func<Task<T>> read, Func<T, bool> condition, string what)
    {
        using var bound = new CancellationTokenSource(Bound);
        while (true)
        {
            var value = await read();
            if (condition(value))
            {
                return value;
            }

            if (bound.IsCancellationRequested)
            {
                Assert.Fail($"Timed out after {Bound} waiting for {what}; last seen: {value}");
            }

            await Task.Delay(Poll, TimeProvider.System);
        }
    }

    /// <summary>
    /// Advances <paramref name="clock"/> by <paramref name="step"/> between reads until <paramref name="condition"/>
    /// holds: for waits whose end depends on both the fake clock (polls, timers) and real work.
    /// </summary>
    public static async Task<T> DriveAsync<T>(FakeTimeProvider clock, TimeSpan step, Func<Task<T>> read, Func<T, bool> condition, string what)
    {
        using var bound = new CancellationTokenSource(Bound);
        while (true)
        {
            var value = await read();
            if (condition(value))
            {
                return value;
            }

            if (bound.IsCancellationRequested)
            {
                Assert.Fail($"Timed out after {Bound} (fake clock at {clock.GetUtcNow():O}) driving towards {what}; last seen: {value}");
            }

            clock.Advance(step);
            await Task.Delay(Poll, TimeProvider.System);
        }
    }

    /// <summary>Runs <paramref name="call"/> while advancing the clock, for calls that wait on fake time themselves.</summary>
    public static async Task<T> DriveAsync<T>(FakeTimeProvider clock, TimeSpan step, Task<T> call, string what)
    {
        using var bound = new CancellationTokenSource(Bound);
        while (!call.IsCompleted)
        {
            if (bound.IsCancellationRequested)
            {
                Assert.Fail($"Timed out after {Bound} (fake clock at {clock.GetUtcNow():O}) driving {what}");
            }

            clock.Advance(step);
            await Task.WhenAny(call, Task.Delay(Poll, TimeProvider.System));
        }

        return await call;
    }
}
