"""Hub dashboard and alarms. Metric names are the runtime's EMF metrics (Powertools)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import DivaInfraConfig
from infra.constructs.function import METRICS_NAMESPACE

# The metrics the hub code emits with Powertools Metrics (namespace DIVA, dimension
# service=<name_prefix>). Kept here and in the README ("Deploying DIVA on AWS"); the runtime must use these names.
EVENTS_HEALTHY = "EventsHealthy"
EVENTS_FAILING = "EventsFailing"
PROBE_DURATION = "ProbeDuration"
ALERTS_SENT = "AlertsSent"
TICK_DURATION = "TickDuration"
HEARTBEAT = "Heartbeat"  # one per completed tick (hub/metrics.py)
TICK_ERRORS = "TickErrors"  # a tick the hub caught failing

# CloudWatch limits an alarm's evaluation range (period x periods) to one day.
_MAX_PERIOD_MINUTES = 12 * 60
_UNKNOWN_INTERVAL_MINUTES = 60


class HubObservability(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: DivaInfraConfig,
        function: lambda_.IFunction,
        dead_letter_queue: sqs.IQueue,
        alert_topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, id)
        dimensions = {"service": config.name_prefix}
        interval = config.schedule_interval_minutes or _UNKNOWN_INTERVAL_MINUTES
        period = Duration.minutes(min(max(interval, 1), _MAX_PERIOD_MINUTES))

        def metric(name: str, statistic: str, at: Duration = Duration.minutes(5)) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=METRICS_NAMESPACE, metric_name=name, dimensions_map=dimensions,
                statistic=statistic, period=at,
            )

        notify = actions.SnsAction(alert_topic)
        self.heartbeat_alarm = cloudwatch.Alarm(
            self,
            "HeartbeatMissing",
            alarm_description="DIVA has not completed a tick for two schedule intervals",
            metric=metric(HEARTBEAT, "Sum", period),
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=2,
            datapoints_to_alarm=2,
            # No data is exactly the failure this alarm exists for.
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
        )
        self.tick_errors_alarm = cloudwatch.Alarm(
            self,
            "TickErrors",
            alarm_description="The DIVA hub tick function raised an error",
            # Errors the handler raised (Lambda) plus ticks it caught failing (DIVA's metric).
            metric=cloudwatch.MathExpression(
                expression="FILL(raised, 0) + FILL(caught, 0)",
                using_metrics={
                    "raised": function.metric_errors(period=Duration.minutes(5), statistic="Sum"),
                    "caught": metric(TICK_ERRORS, "Sum"),
                },
                period=Duration.minutes(5),
                label="Tick errors",
            ),
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.dead_letter_alarm = cloudwatch.Alarm(
            self,
            "DeadLetterQueueNotEmpty",
            alarm_description="A DIVA tick was not delivered or failed: see the dead-letter queue",
            metric=dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(5), statistic="Maximum"
            ),
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        for alarm in (self.heartbeat_alarm, self.tick_errors_alarm, self.dead_letter_alarm):
            alarm.add_alarm_action(notify)
            alarm.add_ok_action(notify)

        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=f"{config.name_prefix}-hub")
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Events healthy / failing",
                left=[metric(EVENTS_HEALTHY, "Maximum"), metric(EVENTS_FAILING, "Maximum")],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Probe duration (ms)",
                left=[metric(PROBE_DURATION, "Average"), metric(PROBE_DURATION, "p99")],
                width=12,
            ),
            cloudwatch.GraphWidget(title="Alerts sent", left=[metric(ALERTS_SENT, "Sum")], width=12),
            cloudwatch.GraphWidget(
                title="Tick duration (ms)",
                left=[metric(TICK_DURATION, "Average"), metric(TICK_DURATION, "Maximum")],
                right=[function.metric_errors(statistic="Sum"), metric(TICK_ERRORS, "Sum")],
                width=12,
            ),
            cloudwatch.AlarmStatusWidget(
                title="Alarms",
                alarms=[self.heartbeat_alarm, self.tick_errors_alarm, self.dead_letter_alarm],
                width=24,
            ),
        )
