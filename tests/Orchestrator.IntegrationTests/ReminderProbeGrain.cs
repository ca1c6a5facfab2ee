using Orchestrator.Grains;

namespace Orchestrator.IntegrationTests;

/// <summary>A grain that counts its reminder ticks in persisted state, to prove reminders fire from PostgreSQL.</summary>
[Alias("orchestrator.tests.IReminderProbeGrain")]
public interface IReminderProbeGrain : IGrainWithStringKey
{
    [Alias("Start")]
    Task StartAsync(TimeSpan period);

    [Alias("Stop")]
    Task StopAsync();

    [Alias("Ticks")]
    Task<int> GetTicksAsync();
}

[GenerateSerializer, Alias("orchestrator.tests.ReminderProbeState")]
public sealed class ReminderProbeState
{
    [Id(0)] public int Ticks { get; set; }
}

internal sealed class ReminderProbeGrain(
    [PersistentState("probe", StorageNames.Orchestrator)] IPersistentState<ReminderProbeState> state) : Grain, IReminderProbeGrain, IRemindable
{
    private const string ReminderName = "probe";

    public async Task StartAsync(TimeSpan period) => await this.RegisterOrUpdateReminder(ReminderName, period, period);

    public async Task StopAsync()
    {
        if (await this.GetReminder(ReminderName) is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    public Task<int> GetTicksAsync() => Task.FromResult(state.State.Ticks);

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        state.State.Ticks++;
        await state.WriteStateAsync();
    }
}
