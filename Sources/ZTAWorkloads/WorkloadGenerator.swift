public struct WorkloadGenerator {}
