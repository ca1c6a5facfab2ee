using Microsoft.Extensions.Time.Testing;

namespace Orchestrator.Fly.Emulator.Tests.Support;

/// <summary>
/// A <see cref="FakeTimeProvider"/> that also tells the test when the emulator arms a timer on it, so the test moves
/// time only once the timer it is about exists (a move made before would not count towards it), and never guesses
/// with real delays.
/// </summary>
internal sealed class WatchedClock : TimeProvider
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private readonly FakeTimeProvider _fake = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly Lock _sync = new();
    private readonly List<TimeSpan> _armed = [];
    private readonly List<(TimeSpan DueTime, int Count, TaskCompletionSource Done)> _waiters = [];

    public override long TimestampFrequency => _fake.TimestampFrequency;

    public override TimeZoneInfo LocalTimeZone => _fake.LocalTimeZone;

    public void Advance(TimeSpan by) => _fake.Advance(by);

    public override DateTimeOffset GetUtcNow() => _fake.GetUtcNow();

    public override long GetTimestamp() => _fake.GetTimestamp();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = _fake.CreateTimer(callback, state, dueTime, period);
        lock (_sync)
        {
            _armed.Add(dueTime);
            foreach (var waiter in _waiters.Where(w => ArmedCount(w.DueTime) >= w.Count).ToList())
            {
                _waiters.Remove(waiter);
                waiter.Done.TrySetResult();
            }
        }

        return timer;
    }

    /// <summary>Waits until <paramref name="count"/> timers due after <paramref name="dueTime"/> have been armed since the start.</summary>
    public async Task ArmedAsync(TimeSpan dueTime, int count = 1)
    {
        Task armed;
        lock (_sync)
        {
            if (ArmedCount(dueTime) >= count)
            {
                return;
            }

            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((dueTime, count, done));
            armed = done.Task;
        }

        try
        {
            await armed.WaitAsync(Bound);
        }
        catch (TimeoutException)
        {
            string seen;
            lock (_sync)
            {
                seen = string.Join(", ", _armed);
            }

            Assert.Fail($"Timed out after {Bound} waiting for timer {count} due after {dueTime}; armed: {seen}");
        }
    }

    private int ArmedCount(TimeSpan dueTime) => _armed.Count(d => d == dueTime);
}
