namespace Orchestrator.Grains;

/// <summary>Names of the grain storage providers the silo registers.</summary>
public static class StorageNames
{
    /// <summary>The provider every Orchestrator grain persists its state with.</summary>
    public const string Orchestrator = "orchestrator";
}
