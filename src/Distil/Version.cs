namespace Distil; public static class Version { public const string Value = "0.2.0"; }
