namespace Distil; public static class Version { public const string Value = "0.1.0"; }
