import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { API_VERSION, KIND, type CustomImage, type Reason } from '../api/customimage.ts';
import { withTimeout } from './api.ts';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  /** Best effort: a failed write (e.g. a terminating namespace) is logged, never thrown. */
  record(image: CustomImage, type: EventType, reason: Reason, message: string): Promise<void>;
}

export class KubeEventRecorder implements EventRecorder {
  private readonly api: CoreV1Api;
  private readonly component: string;
  private readonly log: Logger;
  private readonly timeoutMs: number;

  constructor(kc: KubeConfig, opts: { component: string; log: Logger; timeoutMs: number }) {
    this.api = kc.makeApiClient(CoreV1Api);
    this.component = opts.component;
    this.log = opts.log;
    this.timeoutMs = opts.timeoutMs;
  }

  async record(image: CustomImage, type: EventType, reason: Reason, message: string): Promise<void> {
    const { name, namespace, uid, resourceVersion } = image.metadata;
    const now = new Date();
    try {
      await withTimeout(
        `create event for ${KIND} ${namespace}/${name}`,
        this.timeoutMs,
        this.api.createNamespacedEvent({
          namespace,
          body: {
            metadata: { name: `${name}.${randomBytes(8).toString('hex')}`, namespace },
            involvedObject: { apiVersion: API_VERSION, kind: KIND, name, namespace, uid, resourceVersion },
            type,
            reason,
            message: message.slice(0, 1024),
            source: { component: this.component },
            reportingComponent: this.component,
            reportingInstance: process.env.HOSTNAME ?? 'local',
            firstTimestamp: now,
            lastTimestamp: now,
            eventTime: undefined as never,
            count: 1,
          },
        }),
      );
    } catch (e) {
      this.log.warn({ key: `${namespace}/${name}`, reason, err: (e as Error).message }, 'could not write event');
    }
  }
}
