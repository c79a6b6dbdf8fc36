"""The tick: an EventBridge Scheduler schedule invoking a function, with a dead-letter queue."""

from __future__ import annotations

from aws_cdk import Duration, Stack, TimeZone
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import DivaInfraConfig
from infra.nag import acknowledge


def tick_dead_letter_queue(scope: Construct, id: str) -> sqs.Queue:
    """Holds ticks that could not be delivered (Scheduler) or that failed (Lambda async)."""
    queue = sqs.Queue(
        scope,
        id,
        # SQS-managed SSE: Scheduler and Lambda destinations can write without KMS grants.
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),  # the maximum: time for a person to look
    )
    acknowledge(queue, "SQS3", "This queue is itself the dead-letter queue of the DIVA tick (Scheduler target "
                "DLQ and the function's on-failure destination); a DLQ of a DLQ would only move the problem.")
    return queue


def schedule_expression(expression: str) -> scheduler.ScheduleExpression:
    return scheduler.ScheduleExpression.expression(expression, TimeZone.ETC_UTC)


class TickSchedule(Construct):
    """Schedule -> function. `role` is the schedule's execution role when brought by the user."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: DivaInfraConfig,
        function: lambda_.IFunction,
        dead_letter_queue: sqs.IQueue,
        schedule_name: str,
        role: iam.IRole | None = None,
    ) -> None:
        super().__init__(scope, id)
        target = targets.LambdaInvoke(
            function,
            # Scheduler retries only delivery (throttling, service errors); the function's
            # own failures go to the same queue through its on-failure destination. A tick
            # older than max_event_age is superseded by the next one, so it is not delivered.
            retry_attempts=config.tick_retry_attempts,
            max_event_age=Duration.seconds(config.tick_max_event_age_sec),
            dead_letter_queue=dead_letter_queue,
            role=role,
            # The scheduled time identifies the cycle: a redelivered tick is the same cycle.
            input=scheduler.ScheduleTargetInput.from_object(
                {
                    "source": "diva.schedule",
                    "scheduled_time": scheduler.ContextAttribute.scheduled_time,
                    "execution_id": scheduler.ContextAttribute.execution_id,
                }
            ),
        )
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            schedule_name=schedule_name,
            description="DIVA tick: detect, inject, verify, alert",
            schedule=schedule_expression(config.schedule),
            target=target,
        )
        if role is None:
            # CDK's LambdaInvoke target creates one scheduler role per stack and grants it the
            # function ARN and "<arn>:*" (its versions and aliases).
            function_id = Stack.of(self).get_logical_id(function.node.default_child)
            acknowledge(
                Stack.of(self),
                f"IAM5[Resource::<{function_id}.Arn>:*]",
                "The scheduler role may invoke only the DIVA tick function; ':*' covers that one "
                "function's versions and aliases (CDK's LambdaInvoke grant).",
            )
