namespace Orchestrator.Fly.Emulator.Tests.Support;

/// <summary>
/// Real time plus an offset the test moves forward: wall-clock readings jump (lease expiry) while
/// timers still run in real time, so transitions keep flowing. With <c>freezeTimestamps</c> the
/// monotonic clock (what rate limits refill by) moves only when the test advances it, so a burst
/// counted on a slow machine is still a burst.
/// </summary>
internal sealed class ShiftableTimeProvider(bool freezeTimestamps = false) : TimeProvider
{
    private readonly long _frozenAt = System.GetTimestamp();
    private long _offsetTicks;

    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow().AddTicks(Interlocked.Read(ref _offsetTicks));

    public override long GetTimestamp() =>
        (freezeTimestamps ? _frozenAt : System.GetTimestamp())
        + (long)(Interlocked.Read(ref _offsetTicks) * (TimestampFrequency / (double)TimeSpan.TicksPerSecond));
}
