import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ControllerMetrics } from '../runtime/controller.ts';
import type { WorkQueueMetrics } from '../runtime/workqueue.ts';

/**
 * Prometheus metrics named like controller-runtime's and client-go's workqueue's, so existing
 * dashboards and alerts fit, plus the operator's own (AWS requests, deletions).
 */
export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconcileTotal = new Counter({ name: 'controller_runtime_reconcile_total', help: 'Total number of reconciliations per controller', labelNames: ['controller', 'result'], registers: [this.registry] });
  readonly reconcileErrors = new Counter({ name: 'controller_runtime_reconcile_errors_total', help: 'Total number of reconciliation errors per controller', labelNames: ['controller'], registers: [this.registry] });
  readonly reconcileTime = new Histogram({
    name: 'controller_runtime_reconcile_time_seconds',
    help: 'Length of time per reconciliation per controller',
    labelNames: ['controller'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly activeWorkers = new Gauge({ name: 'controller_runtime_active_workers', help: 'Number of currently used workers per controller', labelNames: ['controller'], registers: [this.registry] });
  readonly queueDepth = new Gauge({ name: 'workqueue_depth', help: 'Current depth of workqueue', labelNames: ['name'], registers: [this.registry] });
  readonly queueAdds = new Counter({ name: 'workqueue_adds_total', help: 'Total number of adds handled by workqueue', labelNames: ['name'], registers: [this.registry] });
  readonly queueDuration = new Histogram({
    name: 'workqueue_queue_duration_seconds',
    help: 'How long in seconds an item stays in workqueue before being requested',
    labelNames: ['name'],
    buckets: [0.001, 0.01, 0.1, 1, 10, 100, 1000],
    registers: [this.registry],
  });
  readonly queueRetries = new Counter({ name: 'workqueue_retries_total', help: 'Total number of retries handled by workqueue', labelNames: ['name'], registers: [this.registry] });
  readonly leaderStatus = new Gauge({ name: 'leader_election_master_status', help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master', labelNames: ['name'], registers: [this.registry] });
  readonly awsRequests = new Counter({ name: 'pcluster_image_operator_aws_requests_total', help: 'AWS API requests by service, operation and outcome (success, throttled, error)', labelNames: ['service', 'operation', 'outcome'], registers: [this.registry] });
  readonly deletions = new Counter({ name: 'pcluster_image_operator_deletions_total', help: 'CustomImage deletions finished, by outcome (deleted, retained, absent)', labelNames: ['outcome'], registers: [this.registry] });
  readonly deletionDuration = new Histogram({
    name: 'pcluster_image_operator_deletion_duration_seconds',
    help: 'Time from the start of an AWS deletion (plan recorded) to DELETE_COMPLETE',
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  queue(name: string): WorkQueueMetrics {
    return {
      onAdd: () => this.queueAdds.inc({ name }),
      onDepth: (d) => this.queueDepth.set({ name }, d),
      onQueueLatency: (s) => this.queueDuration.observe({ name }, s),
      onRetry: () => this.queueRetries.inc({ name }),
    };
  }

  controller(name: string): ControllerMetrics {
    return {
      onReconcile: (result, seconds) => {
        this.reconcileTotal.inc({ controller: name, result });
        if (result === 'error') this.reconcileErrors.inc({ controller: name });
        this.reconcileTime.observe({ controller: name }, seconds);
      },
      onActiveWorkers: (n) => this.activeWorkers.set({ controller: name }, n),
    };
  }
}
