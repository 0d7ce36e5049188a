// Slack incoming-webhook messages for a notification group, shaped like Alertmanager's Slack
// integration: one attachment, red while anything fires and green once all resolved, with the title
// and text rendered from Go templates over the same data Alertmanager gives its templates.

import type { WebhookMessage } from './alert-dispatcher.ts';
import { StringMap, type GoValue } from '../gotemplate/value.ts';
import { renderNotificationTemplate, TemplateError } from './template-functions.ts';

export interface SlackTemplates {
  channel: string;
  username: string;
  title: string;
  text: string;
}

/** Alertmanager's template data: .Status, .Alerts (with .Firing/.Resolved), .GroupLabels, … (label sets are map[string]string). */
function templateData(message: WebhookMessage): GoValue {
  const alerts = message.alerts.map((alert) => ({
    Status: alert.status,
    Labels: StringMap.of(alert.labels),
    Annotations: StringMap.of(alert.annotations),
    StartsAt: alert.startsAt,
    EndsAt: alert.endsAt,
    GeneratorURL: alert.generatorURL,
    Fingerprint: alert.fingerprint,
  }));
  // Go's template data has methods Alerts.Firing and Alerts.Resolved; here they are fields of a list.
  const list = Object.assign([...alerts], {
    Firing: alerts.filter((alert) => alert.Status === 'firing'),
    Resolved: alerts.filter((alert) => alert.Status === 'resolved'),
  });
  return {
    Receiver: message.receiver,
    Status: message.status,
    Alerts: list,
    GroupLabels: StringMap.of(message.groupLabels),
    CommonLabels: StringMap.of(message.commonLabels),
    CommonAnnotations: StringMap.of(message.commonAnnotations),
    ExternalURL: message.externalURL,
  };
}

function render(name: string, template: string, data: GoValue): string {
  try {
    return renderNotificationTemplate(name, template, data);
  } catch (error) {
    if (error instanceof TemplateError) return `<error expanding template: ${error.message}>`;
    throw error;
  }
}

export function slackPayload(message: WebhookMessage, templates: SlackTemplates): Record<string, unknown> {
  const data = templateData(message);
  const title = render('title', templates.title, data);
  const text = render('text', templates.text, data).trimEnd();
  const payload: Record<string, unknown> = {
    username: templates.username,
    attachments: [
      {
        title,
        title_link: message.externalURL === '' ? undefined : message.externalURL,
        text,
        fallback: `${title} | ${message.externalURL}`,
        color: message.status === 'firing' ? 'danger' : 'good',
        mrkdwn_in: ['fallback', 'pretext', 'text'],
      },
    ],
  };
  if (templates.channel !== '') payload.channel = templates.channel;
  return payload;
}
