namespace Orchestrator.Fly.Emulator.Backend;

/// <summary>Fly's machine states (reference §8) and which calls each allows.</summary>
internal static class MachineStates
{
    public const string Created = "created";
    public const string Starting = "starting";
    public const string Started = "started";
    public const string Stopping = "stopping";
    public const string Stopped = "stopped";
    public const string Restarting = "restarting";
    public const string Suspending = "suspending";
    public const string Suspended = "suspended";
    public const string Replacing = "replacing";
    public const string Destroying = "destroying";
    public const string Destroyed = "destroyed";
    public const string Failed = "failed";

    /// <summary>What a wait on an instance id that an update superseded sees.</summary>
    public const string Replaced = "replaced";

    public static readonly string[] Waitable = [Started, Stopped, Suspended, Destroyed, Failed, "settled"];

    public static bool IsTransient(string state) =>
        state is Starting or Stopping or Restarting or Suspending or Replacing or Destroying;

    /// <summary>Without <c>force</c>, only a machine that runs nothing may be destroyed (suspended allowed since Jul 2024).</summary>
    public static bool DestroyableWithoutForce(MachineRecord machine) =>
        machine.State is Stopped or Suspended or Failed || (machine.State is Created && !machine.LaunchPending);
}
