namespace Orchestrator.Fly.Tests.Infrastructure;

/// <summary>
/// A wall clock the test moves by hand. Only the date is faked: timers and timestamps stay real, so the
/// HTTP pipeline's timeouts keep working while the provider's deadlines follow the test's story.
/// </summary>
public sealed class ManualClock : TimeProvider
{
    private long _ticks = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}
