{{- define "backend.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 55 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 55 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "backend.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "backend.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "backend.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "backend.serviceAccountName" -}}
{{- default (include "backend.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "backend.tlsSecretName" -}}
{{- default (printf "%s-tls" (include "backend.fullname" .)) .Values.tls.existingSecret -}}
{{- end -}}

{{- define "backend.callersSecretName" -}}
{{- default (printf "%s-callers" (include "backend.fullname" .)) .Values.callersExistingSecret -}}
{{- end -}}

{{- define "backend.credentialsSecretName" -}}
{{- default (printf "%s-azure" (include "backend.fullname" .)) .Values.credentials.existingSecret -}}
{{- end -}}

{{- define "backend.createsCredentialsSecret" -}}
{{- if and (eq .Values.credentials.type "servicePrincipal") (not .Values.credentials.existingSecret) -}}true{{- end -}}
{{- end -}}

{{/* Checks of values that must agree with each other; renders nothing. */}}
{{- define "backend.validate" -}}
{{- $v := .Values -}}
{{- $_ := required "subscriptionId is required" $v.subscriptionId -}}
{{- $_ := required "resourceGroup is required" $v.resourceGroup -}}
{{- $_ := required "location is required (for example westeurope)" $v.location -}}
{{- if not (or $v.tls.existingSecret (and $v.tls.cert $v.tls.key)) -}}
  {{- fail "tls is required: set tls.existingSecret, or tls.cert and tls.key" -}}
{{- end -}}
{{- if not (or $v.callers $v.callersExistingSecret) -}}
  {{- fail "callers (or callersExistingSecret) is required: a shared backend serves only known callers" -}}
{{- end -}}
{{- range $v.callers -}}
  {{- if not .name -}}{{- fail "every caller needs a name" -}}{{- end -}}
  {{- if not (or .certificate .certificateSha256 .token .tokenSha256) -}}
    {{- fail (printf "caller %s needs a certificate, certificateSha256, token or tokenSha256" .name) -}}
  {{- end -}}
  {{- if not .clusters -}}{{- fail (printf "caller %s needs clusters" .name) -}}{{- end -}}
  {{- if and (or .certificate .certificateSha256) (not (or $v.tls.clientCa $v.tls.existingSecret)) -}}
    {{- fail (printf "caller %s uses a client certificate: set tls.clientCa (or ca.crt in tls.existingSecret)" .name) -}}
  {{- end -}}
{{- end -}}
{{- $c := $v.credentials -}}
{{- if eq $c.type "servicePrincipal" -}}
  {{- $_ := required "credentials.clientId is required for a service principal" $c.clientId -}}
  {{- $_ := required "credentials.tenantId is required for a service principal" $c.tenantId -}}
  {{- if not (or $c.clientSecret $c.existingSecret) -}}
    {{- fail "credentials.clientSecret or credentials.existingSecret is required for a service principal" -}}
  {{- end -}}
{{- else if eq $c.type "workloadIdentity" -}}
  {{- $_ := required "credentials.clientId is required for workload identity" $c.clientId -}}
  {{- $_ := required "credentials.tenantId is required for workload identity" $c.tenantId -}}
{{- else if ne $c.type "managedIdentity" -}}
  {{- fail (printf "credentials.type must be servicePrincipal, managedIdentity or workloadIdentity, not %q" $c.type) -}}
{{- end -}}
{{- end -}}
