import { doctorExitCode } from '../domain/doctor-check.ts';
import { createAwsFleetClient } from './aws-fleet-client.ts';
import { formatDoctorReport } from './doctor.ts';
import { FleetClientError } from './fleet-client.ts';
import { type CommandIo, processIo } from './fleet-commands.ts';

/**
 * `jit-runners doctor --stack NAME [--region R]`: the deployed reconciler runs the checks (admin action
 * `doctor`) and the report prints as the local one does. Exit codes: 0 no check failed, 1 a check failed or
 * the stack could not be asked.
 */
export async function runStackDoctor(
  values: Record<string, string | boolean | undefined>,
  options: { json: boolean; webhookUrl?: string },
  io: CommandIo = processIo,
  client = createAwsFleetClient({
    stack: String(values.stack),
    ...(typeof values.region === 'string' ? { region: values.region } : {}),
  }),
): Promise<number> {
  try {
    const report = await client.doctor(options.webhookUrl);
    io.out(
      options.json
        ? `${JSON.stringify(report, null, 2)}\n`
        : formatDoctorReport(report, `checked by the reconciler of ${client.target}`),
    );
    return doctorExitCode(report);
  } catch (error) {
    if (!(error instanceof FleetClientError)) throw error;
    io.err(`jit-runners: ${error.message}\n`);
    return 1;
  }
}
