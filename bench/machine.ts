import os from "node:os";

/** The machine a run was measured on: figures mean little without it. */
export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGb: number;
  node: string;
  os: string;
  /** 1-minute load average when the run started: well above 0 means other work shared the cores. */
  loadAverageAtStart: number;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    cores: cpus.length,
    memoryGb: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAverageAtStart: Math.round(os.loadavg()[0] * 100) / 100,
  };
}

export function describeMachine(machine: MachineInfo): string {
  const busy = machine.loadAverageAtStart > machine.cores / 2 ? " (other work was running: figures are noisy)" : "";
  return (
    `${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGb} GB, Node ${machine.node}, ${machine.os}; ` +
    `load average ${machine.loadAverageAtStart} at start${busy}`
  );
}
